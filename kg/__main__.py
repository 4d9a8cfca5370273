from kg.cli import main

# Guarded: multiprocessing workers that import this module must not re-run the CLI.
if __name__ == "__main__":
    main()
