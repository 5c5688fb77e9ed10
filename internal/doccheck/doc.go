// Package doccheck holds no code, only tests: they hold the READMEs and the guides in docs/ to what
// gemgate does. Every shell block is run against "gemgate demo" or marked illustrative, .env.example is
// read the way docker, Compose and systemd read it and gemgate started with the result, the guides' edits
// to docker-compose.yml are applied and the file parsed, and every status code and table name the docs
// state is compared with the running server and the migrations. How to write docs these tests accept:
// the README's Development section.
package doccheck
