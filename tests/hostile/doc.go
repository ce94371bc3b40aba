// Package hostile drives kumo's real cloud clients against the simulators'
// hostile transport modes (simcore.HostileMiddleware) and asserts that no
// secret leaks into errors or logs, bodies stay bounded, redirects to
// other hosts are refused and slow or lying servers fail in time.
package hostile
