# One image for both processes: `dotnet DeployDeck.Web.dll` (default) or `dotnet DeployDeck.Worker.dll`.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig DeployDeck.sln ./
COPY src/Domain/Domain.csproj src/Domain/
COPY src/Compose/Compose.csproj src/Compose/
COPY src/Infrastructure/Infrastructure.csproj src/Infrastructure/
COPY src/Web/Web.csproj src/Web/
COPY src/Worker/Worker.csproj src/Worker/
RUN dotnet restore src/Web/Web.csproj && dotnet restore src/Worker/Worker.csproj
COPY src/ src/
RUN dotnet publish src/Web/Web.csproj -c Release --no-restore -o /out/web \
 && dotnet publish src/Worker/Worker.csproj -c Release --no-restore -o /out/worker

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /out/web /app/web
COPY --from=build /out/worker /app/worker
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    Urls=http://0.0.0.0:8080 \
    DOTNET_ENVIRONMENT=Production \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_GCgen0size=0x400000
# The aspnet images ship a non-root `app` user (uid 1654).
USER app
EXPOSE 8080
WORKDIR /app/web
CMD ["dotnet", "/app/web/DeployDeck.Web.dll"]
