# gemgate container image: one static binary on a distroless base (CA certificates, no shell), running
# as a non-root user. Build: docker build --build-arg VERSION=v1.2.3 -t gemgate .
#
# Settings come from the environment (docker run -e, compose, the platform's variables) or from a .env
# file in /data. SQLite data lives in the /data volume; with MySQL or PostgreSQL nothing is written there.

FROM golang:1.26 AS build
ARG VERSION=dev
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same command as CI's static build, so the image runs the binary the tests test.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gemgate ./cmd/gemgate
# Platforms run images under their own user id (Hugging Face 1000, OpenShift a random one), so /data is
# writable by any user, like /tmp.
RUN mkdir -p /out/data && chmod 1777 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gemgate /usr/local/bin/gemgate
COPY --from=build --chown=nonroot:nonroot /out/data /data
WORKDIR /data
ENV SQLITE_DATABASE=/data/gemgate.db \
    HOST=0.0.0.0 \
    PORT=8000
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/gemgate", "check"]
ENTRYPOINT ["/usr/local/bin/gemgate"]
CMD ["serve"]
