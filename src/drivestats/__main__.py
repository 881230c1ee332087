from drivestats.cli import main

main()
