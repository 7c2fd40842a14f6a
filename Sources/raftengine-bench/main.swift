// raftengine-bench: prints measured figures; never part of the test suite.
print("usage: raftengine-bench <suite>")
