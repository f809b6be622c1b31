# The rtbench image that `rtbench k8s` runs (docs/kubernetes.md): the package
# as `npm pack` makes it, on node:20-slim, with production dependencies only,
# as the non-root user `node` (uid 1000). Build from the repository's root:
#
#   docker build -t rtbench:0.1.0 .
#
# Open files: Node raises its soft RLIMIT_NOFILE to the hard limit at start,
# so every rtbench process gets what the container runtime allows; nothing
# inside the image can raise the hard limit (docs/kubernetes.md says where).

FROM node:20-slim AS build
WORKDIR /src
# Dependencies first, so a source change does not reinstall them. The build
# comes after the sources: RTBENCH_SKIP_BUILD keeps `prepare` from building now.
# npm ci runs `prepare` (scripts/prepare.js), and the build cleans dist/ with
# scripts/clean-dist.js: both come before the install.
COPY package.json package-lock.json ./
COPY scripts scripts
RUN RTBENCH_SKIP_BUILD=1 npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY src src
COPY reference-server reference-server
COPY schema schema
COPY scenarios scenarios
COPY examples examples
COPY docs docs
COPY README.md LICENSE ./
# The package exactly as published (package.json's `files`), unpacked in /package.
RUN npm run build \
  && RTBENCH_SKIP_BUILD=1 npm pack --pack-destination /tmp \
  && mkdir /package \
  && tar -xzf /tmp/rtbench-*.tgz -C /package --strip-components=1

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /opt/rtbench
# The lock file pins production dependencies as in the repository; no
# lifecycle scripts: the package arrives built.
COPY --from=build /package/package.json ./
COPY --from=build /src/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force
COPY --from=build /package/ ./
RUN ln -s /opt/rtbench/bin/rtbench.js /usr/local/bin/rtbench
USER 1000:1000
WORKDIR /home/node
ENTRYPOINT ["rtbench"]
CMD ["--help"]
