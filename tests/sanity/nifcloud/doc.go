// Package nifcloudsanity runs csi-sanity and a data persistence test
// against kumo's CSI driver with the NIFCLOUD backend, talking over HTTP to
// an in-process NIFCLOUD simulator whose "local" instances get real loop
// devices, so that the node plugin formats and mounts for real. The tests
// need root and skip otherwise.
package nifcloudsanity
