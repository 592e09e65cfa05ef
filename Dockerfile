# Dockerfile: tripline's container images, one stage each (docker-compose.yml
# picks them with build.target).  Every stage starts from Debian bookworm,
# the release the project builds and tests on.
#
#   build   compiles tripline-cgi, tripline-runner and tripline-gen
#   db      PostgreSQL 15 from Debian (initdb into the volume on first start)
#   nginx   nginx in front of the FastCGI socket
#   app     the programs (FastCGI program, job runner, migrations): the default
#
# The programs and nginx share uid/gid 10001 ("tripline"): nginx's workers
# must be allowed to connect to the FastCGI socket the program creates, and
# the runner must read the uploads the FastCGI program spools.
#
# Without a registry (the project's own machines), docker/build-base.sh makes
# the debian:bookworm-slim base from the Debian mirror; scripts/compose-test.sh
# builds with --pull=never against it.

ARG DEBIAN=debian:bookworm-slim

# ---------------------------------------------------------------- build
FROM ${DEBIAN} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	gcc make libc6-dev libfcgi-dev libpq-dev libcsv-dev libjson-c-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the three programs are made of: a change to the tests, the docs
# or the scripts does not rebuild them.
COPY Makefile ./
COPY lib/ lib/
COPY cgi/ cgi/
COPY jobs/ jobs/
COPY tools/ tools/
RUN make -j"$(nproc)" build/tripline-cgi build/tripline-runner build/tripline-gen \
 && install -d /out \
 && install -s -m 0755 build/tripline-cgi build/tripline-runner build/tripline-gen /out/

# ---------------------------------------------------------------- db
FROM ${DEBIAN} AS db
# No "main" cluster: the entrypoint creates one in the volume on first start.
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
COPY --chmod=0755 docker/db.sh /usr/local/bin/tripline-db
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data/pgdata
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# SIGINT is PostgreSQL's "fast" shutdown: SIGTERM ("smart") would wait for
# every client to disconnect, past the engine's stop timeout.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=5 \
	CMD ["pg_isready", "-q", "-h", "/var/run/postgresql"]
ENTRYPOINT ["tripline-db"]

# ---------------------------------------------------------------- nginx
FROM ${DEBIAN} AS nginx
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && groupadd --gid 10001 tripline \
 && useradd --uid 10001 --no-log-init --gid tripline --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin tripline \
 && install -d -o tripline -g tripline -m 0750 /run/tripline
# The same template scripts/stack.sh fills in, so the container answers
# exactly like the local stack (routes, limits, problem+json errors).
COPY nginx/ /usr/share/tripline/nginx/
COPY --chmod=0755 docker/nginx.sh /usr/local/bin/tripline-nginx
COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/tripline-healthcheck
EXPOSE 8080
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
	CMD ["tripline-healthcheck", "nginx"]
ENTRYPOINT ["tripline-nginx"]

# ---------------------------------------------------------------- app
FROM ${DEBIAN} AS app
# psql runs the migrations and the readiness checks; cgi-fcgi (libfcgi-bin)
# speaks FastCGI to the socket for the health check.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	libfcgi0ldbl libfcgi-bin libpq5 libcsv3 libjson-c5 libssl3 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 tripline \
 && useradd --uid 10001 --no-log-init --gid tripline --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin tripline \
 && install -d -o tripline -g tripline -m 0750 /run/tripline /var/spool/tripline \
	/var/lib/tripline /var/lib/tripline/inbox
COPY --from=build /out/ /usr/local/bin/
COPY sql/ /usr/share/tripline/sql/
COPY scripts/migrate.sh /usr/share/tripline/scripts/migrate.sh
COPY --chmod=0755 docker/app.sh /usr/local/bin/tripline-app
COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/tripline-healthcheck
ENV TRIPLINE_SOCKET=/run/tripline/cgi.sock \
    TRIPLINE_SPOOL=/var/spool/tripline \
    TRIPLINE_INBOX=/var/lib/tripline/inbox \
    TRIPLINE_SQL_DIR=/usr/share/tripline/sql
USER tripline
WORKDIR /var/lib/tripline
ENTRYPOINT ["tripline-app"]
CMD ["cgi"]
