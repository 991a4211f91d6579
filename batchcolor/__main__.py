from batchcolor.cli import main

main()
