from scripts.aws.cli import main

raise SystemExit(main())
