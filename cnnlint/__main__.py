from cnnlint.cli import main

main()
