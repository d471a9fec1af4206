from rlbox.cli import main

main()
