"""MUD files (RFC 8520) served by the registry at the MUD URL a device emits: vendors upload a product's MUD file
and its signature; the registry checks them and serves both."""
