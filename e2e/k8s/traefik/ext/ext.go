// Package ext holds the extension points that Traefik's dynamic configuration embeds inline
// (dynamic.HTTP and dynamic.Router). The open-source build adds nothing to them, so they are empty
// here too; being inlined and empty, they change neither the configuration schema nor behaviour.
package ext

// HTTP is embedded in dynamic.HTTP.
type HTTP struct{}

// Router is embedded in dynamic.Router.
type Router struct{}
