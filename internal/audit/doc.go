// Package audit holds checks over gemgate's own source that keep security rules from eroding as code is
// added: every whole read of a stream is bounded, so no client, upstream or proxy can make gemgate
// buffer without end. It has no code of its own; the checks are its tests.
package audit
