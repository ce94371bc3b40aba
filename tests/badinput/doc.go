// Package badinput holds table tests of invalid user input — Service
// annotations, StorageClass parameters, volume capabilities, sizes and
// config files — run against the real components and the cloud
// simulators over HTTP. Each case must fail with an error that names the
// bad field and must not make a single mutating cloud call.
package badinput
