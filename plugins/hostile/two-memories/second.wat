;; Hostile fixture, second core module: nothing but a 10 MiB linear memory of its own,
;; instantiated beside the main module (see module.wat).
(module
  (memory 160))
