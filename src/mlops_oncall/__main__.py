from mlops_oncall.cli import main

if __name__ == "__main__":
    main()
