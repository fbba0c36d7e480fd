from perfcfg.cli import main

raise SystemExit(main())
