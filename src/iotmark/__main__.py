"""`python -m iotmark`: the same command as `iotmark`."""

from iotmark.cli import main

if __name__ == "__main__":
    main()
