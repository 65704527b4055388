"""HTTP: the native API and the compatible faces, each a thin layer over the core."""
