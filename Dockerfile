# walrelay server image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/walrelay ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/walrelay /usr/local/bin/walrelay
COPY sql/demo.yaml /etc/walrelay/walrelay.yaml
ENV WALRELAY_CONFIG=/etc/walrelay/walrelay.yaml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/walrelay"]
CMD ["serve"]
