from wardgate.cli.main import main

main()
