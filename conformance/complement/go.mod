module github.com/axon/conformance/complement

go 1.23

require github.com/matrix-org/complement v0.0.0-20240925142218-911d7d39773a
