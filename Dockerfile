# syntax=docker/dockerfile:1
# ZenoAuth: one image for every plane (PLANES picks what a container serves).
#   docker build -t ghcr.io/zenoauth/zenoauth:0.1.0 .
# The runtime image holds Node, dist/ and the one native addon (@node-rs/argon2), nothing else:
# no shell, no npm, no package manager. It runs as UID 10001 and needs no writable path.

ARG NODE_MAJOR=24

FROM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# esbuild's install script only verifies its platform binary; nothing else needs one here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node build.mjs --check && node build.mjs
# The native addon and its platform package, installed on their own: everything else is in the
# bundle.
RUN mkdir /addons && cd /addons \
 && npm install --no-save --no-package-lock --ignore-scripts --omit=dev --no-audit --no-fund \
      "@node-rs/argon2@$(node -p 'require("/src/package-lock.json").packages["node_modules/@node-rs/argon2"].version')"

FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot AS runtime
WORKDIR /app
COPY --from=build --chown=0:0 /src/dist/zenoauth.mjs /src/dist/zenoauth.cjs /src/dist/zenoauth.cjs.map /src/dist/routes.json /app/dist/
COPY --from=build --chown=0:0 /addons/node_modules/@node-rs /app/node_modules/@node-rs
# V8's code cache must come from this very Node binary: made here, at build time, so a cold
# start skips parsing the bundle. Exec form: the image has no shell.
USER 0:0
RUN ["/nodejs/bin/node", "/app/dist/zenoauth.mjs", "--write-code-cache"]
USER 10001:10001
ENV NODE_ENV=production PORT=8080
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/zenoauth.mjs"]
CMD ["serve"]
