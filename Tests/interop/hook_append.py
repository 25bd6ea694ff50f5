"""A hook command for the tests: appends the entry JSON it reads on stdin to a file."""
import sys

with open(sys.argv[1], "a") as out:
    out.write(sys.stdin.read().strip() + "\n")
