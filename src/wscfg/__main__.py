from wscfg.cli import main

main()
