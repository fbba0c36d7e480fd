from perfcfg.cli.main import main

raise SystemExit(main())
