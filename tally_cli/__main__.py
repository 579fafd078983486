from tally_cli.main import cli

cli()
