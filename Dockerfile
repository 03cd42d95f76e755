# applinkctl as a small static image that runs as a non-root user: the
# binary, the CA certificates it needs to reach the Heroku and Salesforce
# APIs, a passwd entry, and a static busybox (sh and the basic commands) so
# that CI systems that run a job's script inside the image (GitLab CI) can
# use it; no package manager, no libc.
#
#   docker build -t applinkctl --build-arg VERSION=v1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" -e HEROKU_API_KEY applinkctl plan -f applink.yaml
#
# See docs/install.md and docs/ci.md (GitLab CI, CircleCI, plain docker run).

# The Go of go.mod; TestDockerfile keeps them in step.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: a change to the source alone reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# CGO_ENABLED=0: a static binary, which scratch needs (no libc there).
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/usr/local/bin/applinkctl ./cmd/applinkctl
# A static busybox and its applets (relative links, so they resolve in the
# image): a shell for CI job scripts.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static \
 && mkdir -p /out/bin \
 && cp /bin/busybox /out/bin/busybox \
 && for a in $(/out/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "/out/bin/$a"; done
# The non-root user (uid and gid 10001), its home /work (the mount point for
# a workspace) and a /tmp, all of which scratch lacks.
RUN mkdir -p /out/etc/ssl/certs /out/work /out/tmp \
 && chmod 1777 /out/tmp \
 && chown 10001:10001 /out/work \
 && echo 'applinkctl:x:10001:10001:applinkctl:/work:/bin/sh' > /out/etc/passwd \
 && echo 'applinkctl:x:10001:' > /out/etc/group \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/

FROM scratch
COPY --from=build /out/ /
ENV HOME=/work PATH=/usr/local/bin:/bin
WORKDIR /work
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/applinkctl"]
CMD ["--help"]
