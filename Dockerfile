# hubd: one container, data in a volume at /data.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY server server
COPY storage storage
# `npm ci` builds too (the `prepare` script: dist/ and the `hubd` CLI link), so the sources come first.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
# git and git-lfs serve git clone/push (and maintenance); the HTTP API works without them.
# curl is the push hook's client (git-hooks/pre-receive falls back to Node without it).
RUN apt-get update && apt-get install -y --no-install-recommends git git-lfs curl ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY migrations migrations
COPY git-hooks git-hooks
ENV HUBD_HOST=0.0.0.0 HUBD_PORT=8080 HUBD_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
CMD ["node", "dist/server/main.js"]
