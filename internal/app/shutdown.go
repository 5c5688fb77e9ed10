package app

// AbortUpstream ends every upstream call still in flight (the end of the shutdown grace period): each
// handler then closes its answer with an error in its API's shape, and new calls fail at once.
func (a *App) AbortUpstream() {
	if a.Exec != nil && a.Exec.Client != nil {
		a.Exec.Client.Drain()
	}
}
