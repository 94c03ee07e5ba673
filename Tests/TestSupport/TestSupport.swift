/// TestSupport: finds and starts real servers on loopback for tests and benchmarks; never mocks.
