// Integration suites run the real service in-process; its JSON logs are silenced unless asked for.
process.env.LOG_LEVEL ??= 'silent';
