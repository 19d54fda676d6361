;; Hostile fixture, main core module: a strategy with a linear memory of 10 MiB (160 pages
;; of 64 KiB). The build (`xtask`) embeds the world's metadata, turns it into a component
;; like any plugin, and adds `second.wat` as a further core module instantiated beside this
;; one, with its own 10 MiB memory. Either memory alone is under the 16 MiB cap the manifest
;; asks for; both together are not. (One core module with two memories is refused at load:
;; the sandbox does not enable multi-memory.) The exports follow the canonical ABI of
;; `stratbox:strategy/strategy-plugin`; every callback does nothing and `init` answers ok.
(module
  ;; Exported to the component: where lifted and lowered values live.
  (memory $main 160)
  ;; A bump allocator for the host's `cabi_realloc` calls, from 1 KiB up.
  (global $heap (mut i32) (i32.const 1024))

  (func $realloc (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
    (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (local.get $ptr))

  ;; init(params: list<param>) -> result<_, string>: a pointer to a zeroed result (ok).
  (func $init (param i32 i32) (result i32) (i32.const 16))
  (func $nothing)
  (func $on_bar (param i32 i64 i32 i64 i32 i64 i32 i64 i32 i64 i32 i64 i64))
  (func $on_quote (param i32 i64 i32 i64 i32 i64 i32 i64 i32 i64 i64))
  (func $on_trade (param i32 i64 i32 i64 i32 i32 i32 i32 i64 i64))
  (func $on_signal (param i32 i32 i32 i32 i32 i64 f64 i32 i64 i32 i32 i32 i32 i32))
  (func $on_order_event (param i32 i32 i32 i32 i32 i64 i64 i64 i64 i32 i64))
  ;; snapshot() -> list<u8>: a pointer to a zeroed (ptr, len) pair, the empty list.
  (func $snapshot (result i32) (i32.const 16))
  (func $restore (param i32 i32) (result i32) (i32.const 16))

  (export "cm32p2|stratbox:strategy/strategy@0.1|init" (func $init))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-start" (func $nothing))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-bar" (func $on_bar))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-quote" (func $on_quote))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-trade" (func $on_trade))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-signal" (func $on_signal))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-order-event" (func $on_order_event))
  (export "cm32p2|stratbox:strategy/strategy@0.1|on-stop" (func $nothing))
  (export "cm32p2|stratbox:strategy/strategy@0.1|snapshot" (func $snapshot))
  (export "cm32p2|stratbox:strategy/strategy@0.1|restore" (func $restore))
  (export "cm32p2_memory" (memory $main))
  (export "cm32p2_realloc" (func $realloc)))
