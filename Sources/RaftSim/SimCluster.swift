import RaftCore
import RaftStorage
