"""The job lifecycle: create and send after commit, claim, progress, finish, reap."""
