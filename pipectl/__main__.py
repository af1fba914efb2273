from pipectl.cli import run

run()
