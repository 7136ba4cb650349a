//go:build race

package server

// raceDetector is true in binaries built with -race.
const raceDetector = true
