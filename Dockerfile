# One image for both processes: Web (the default command) and Worker (`/app/worker/DeployDeck.Worker`), published
# self-contained for linux-x64 and run as the non-root user `app` (uid 1654).
#
# The base images are build arguments, Microsoft's by default. A host without a registry builds with local ones that
# `./deploydeck images --production` makes (README.md, Production):
#   docker build --build-arg BUILD_IMAGE=deploydeck/deploydeck-build:local --build-arg RUNTIME_IMAGE=deploydeck/dotnet-deps:12 .
# There the build image already holds the app, published by that machine's SDK, in /out: the two RUN steps below see
# /out/PUBLISHED and do nothing. They check instead of relying on a skipped stage because only BuildKit skips the
# stages a target does not use; the classic builder (docker-compose v1, a docker CLI without buildx) builds them all.
ARG BUILD_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig DeployDeck.sln ./
COPY src/Domain/Domain.csproj src/Domain/
COPY src/Compose/Compose.csproj src/Compose/
COPY src/Infrastructure/Infrastructure.csproj src/Infrastructure/
COPY src/Web/Web.csproj src/Web/
COPY src/Worker/Worker.csproj src/Worker/
# SelfContained at restore too: the runtime packs a self-contained publish needs are downloaded by the restore.
RUN test -e /out/PUBLISHED \
 || { dotnet restore src/Web/Web.csproj -r linux-x64 -p:SelfContained=true \
        && dotnet restore src/Worker/Worker.csproj -r linux-x64 -p:SelfContained=true; }
COPY src/ src/
COPY images/deploydeck/publish.sh /usr/local/bin/deploydeck-publish
RUN test -e /out/PUBLISHED || deploydeck-publish /src /out --no-restore

FROM ${RUNTIME_IMAGE} AS runtime
# One COPY of both folders keeps the hard links publish.sh made between them.
COPY --from=build /out /app
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    Urls=http://0.0.0.0:8080 \
    DOTNET_ENVIRONMENT=Production \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_GCgen0size=0x400000
# Web keeps its Data Protection keys (sign-in cookies, antiforgery tokens) here: docker-compose.yml puts a volume on it,
# which starts out owned by app, so an upgrade that re-creates the container does not sign everyone out.
RUN mkdir -p /home/app/.aspnet/DataProtection-Keys && chown -R 1654:1654 /home/app/.aspnet
# Both bases have the user `app` (uid 1654): Microsoft's images ship it, images/deploydeck/build.sh adds it.
USER app
EXPOSE 8080
WORKDIR /app/web
CMD ["/app/web/DeployDeck.Web"]
