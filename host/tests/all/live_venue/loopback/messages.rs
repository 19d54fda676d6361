//! The SBE messages the loopback venue answers with, laid out as Binance's published schemas
//! define them (`spot_3_4.xml` for REST, the WebSocket API and user data events;
//! `stream_1_0.xml` for market data). Times are microseconds, decimals are mantissas at the
//! message's exponent. Template ids and block lengths are the schemas'.

use super::{
    Fill, Quote, SymbolDef,
    sbe::{Block, Msg, NULL_I32, NULL_I64, NULL_U8, SPOT_SCHEMA, STREAM_SCHEMA},
};

// Enum values of the spot schema.
const TRUE: u8 = 1;
const FALSE: u8 = 0;
const ORDER_TYPE_MARKET: u8 = 0;
const TIF_GTC: u8 = 0;
const EXEC_NEW: u8 = 0;
const EXEC_TRADE: u8 = 4;
const STATUS_NEW: u8 = 0;
const STATUS_FILLED: u8 = 2;
const FLOOR_EXCHANGE: u8 = 1;
const SELF_TRADE_PREVENTION_NONE: u8 = 1;
/// Commissions are quoted with 8 decimals.
pub const COMMISSION_EXPONENT: i8 = -8;

/// `ErrorResponse` (template 100): a REST or WebSocket API error.
pub fn error(code: i16, msg: &str) -> Vec<u8> {
    let mut b = Block::new(18);
    b.i16(0, code).i64(2, NULL_I64).i64(10, NULL_I64);
    let mut m = Msg::new(100, SPOT_SCHEMA, &b);
    m.var16(msg.as_bytes()).var32(b"");
    m.bytes()
}

/// A filter of `exchangeInfo`: an embedded message with its own header, exponent, then
/// three mantissas (PRICE_FILTER, template 1: min price, max price, tick size; LOT_SIZE,
/// template 4: min qty, max qty, step size).
fn filter(template: u16, exponent: i8, values: [i64; 3]) -> Vec<u8> {
    let mut b = Block::new(25);
    b.i8(0, exponent)
        .i64(1, values[0])
        .i64(9, values[1])
        .i64(17, values[2]);
    Msg::new(template, SPOT_SCHEMA, &b).bytes()
}

/// `ExchangeInfoResponse` (template 103) for `GET /api/v3/exchangeInfo`.
pub fn exchange_info(symbols: &[SymbolDef]) -> Vec<u8> {
    let mut m = Msg::new(103, SPOT_SCHEMA, &Block::new(0));
    // rateLimits: REQUEST_WEIGHT 6000 per minute (block 11).
    let mut limit = Block::new(11);
    limit.u8(0, 2).u8(1, 1).u8(2, 1).i64(3, 6000);
    m.group(11, 1).entry(&limit);
    m.group(0, 0); // exchangeFilters
    m.group(19, u32::try_from(symbols.len()).unwrap());
    for s in symbols {
        let mut b = Block::new(19);
        b.u8(0, 0) // TRADING
            .u8(1, 8) // baseAssetPrecision
            .u8(2, 8) // quoteAssetPrecision
            .u8(3, 8)
            .u8(4, 8)
            .u16(5, 0b0111_1111) // orderTypes: MARKET, LIMIT, STOP_LOSS, ... LIMIT_MAKER
            .u8(7, TRUE) // icebergAllowed
            .u8(8, TRUE) // ocoAllowed
            .u8(9, TRUE) // otoAllowed
            .u8(10, TRUE) // quoteOrderQtyMarketAllowed
            .u8(11, TRUE) // allowTrailingStop
            .u8(12, TRUE) // cancelReplaceAllowed
            .u8(13, TRUE) // amendAllowed
            .u8(14, TRUE) // isSpotTradingAllowed
            .u8(15, FALSE) // isMarginTradingAllowed
            .u8(16, SELF_TRADE_PREVENTION_NONE)
            .u8(17, 0b0111_1110) // allowedSelfTradePreventionModes
            .u8(18, FALSE); // pegInstructionsAllowed
        m.entry(&b);
        m.group(0, 2)
            .var8(&filter(1, s.price_exp, [s.tick, 100_000_000_000, s.tick]))
            .var8(&filter(4, s.qty_exp, [s.min_qty, 900_000_000_000, s.step]));
        m.group(0, 1).group(0, 1).var8(b"SPOT"); // permissionSets: [["SPOT"]]
        m.var8(s.name.as_bytes())
            .var8(s.base.as_bytes())
            .var8(s.quote.as_bytes());
    }
    m.group(0, 0); // sors
    m.bytes()
}

/// A balance of `AccountResponse` / `OutboundAccountPositionEvent` (block 17): exponent,
/// free, locked, asset.
fn balances(m: &mut Msg, balances: &[(String, i64)], exponent: i8) {
    m.group(17, u32::try_from(balances.len()).unwrap());
    for (asset, free) in balances {
        let mut b = Block::new(17);
        b.i8(0, exponent).i64(1, *free).i64(9, 0);
        m.entry(&b).var8(asset.as_bytes());
    }
}

/// `AccountResponse` (template 400) for `GET /api/v3/account`.
pub fn account(held: &[(String, i64)], exponent: i8, now_us: i64) -> Vec<u8> {
    let mut b = Block::new(64);
    b.i8(0, -4) // commissionExponent: rates 0.0010
        .i64(1, 10)
        .i64(9, 10)
        .i64(17, 0)
        .i64(25, 0)
        .u8(33, TRUE) // canTrade
        .u8(34, TRUE)
        .u8(35, TRUE)
        .u8(36, FALSE) // brokered
        .u8(37, FALSE)
        .u8(38, FALSE)
        .i64(39, now_us) // updateTime
        .u8(47, 0) // accountType SPOT
        .i64(48, NULL_I64)
        .i64(56, 1_000_001); // uid
    let mut m = Msg::new(400, SPOT_SCHEMA, &b);
    balances(&mut m, held, exponent);
    m.group(0, 1).var8(b"SPOT"); // permissions
    m.group(0, 0); // reduceOnlyAssets
    m.bytes()
}

/// `OrdersResponse` (template 308) with no order, for `GET /api/v3/openOrders`.
pub fn no_orders() -> Vec<u8> {
    let mut m = Msg::new(308, SPOT_SCHEMA, &Block::new(0));
    m.group(163, 0);
    m.bytes()
}

/// `WebSocketResponse` (template 50): the envelope of every WebSocket API response.
pub fn ws_response(status: u16, id: &str, result: &[u8]) -> Vec<u8> {
    let mut b = Block::new(3);
    b.u8(0, FALSE).u16(1, status);
    let mut m = Msg::new(50, SPOT_SCHEMA, &b);
    m.group16(19, 0).var8(id.as_bytes()).var32(result);
    m.bytes()
}

/// `WebSocketSessionLogonResponse` (template 51), the result of `session.logon`.
pub fn session_logon(api_key: &str, now_us: i64, user_data_stream: bool) -> Vec<u8> {
    let mut b = Block::new(26);
    b.i64(0, now_us)
        .i64(8, now_us)
        .u8(16, FALSE)
        .i64(17, now_us)
        .u8(25, if user_data_stream { TRUE } else { FALSE });
    let mut m = Msg::new(51, SPOT_SCHEMA, &b);
    m.var16(api_key.as_bytes());
    m.bytes()
}

/// `NewOrderFullResponse` (template 302), the result of a filled MARKET `order.place` with
/// `newOrderRespType=FULL`.
pub fn new_order_full(s: &SymbolDef, f: &Fill, now_us: i64) -> Vec<u8> {
    let mut b = Block::new(154);
    b.i8(0, s.price_exp)
        .i8(1, s.qty_exp)
        .i64(2, f.order_id)
        .i64(10, NULL_I64) // orderListId
        .i64(18, now_us) // transactTime
        .i64(26, 0) // price (MARKET)
        .i64(34, f.qty)
        .i64(42, f.qty)
        .i64(50, f.price * f.qty) // cummulativeQuoteQty at priceExp + qtyExp
        .u8(58, STATUS_FILLED)
        .u8(59, TIF_GTC)
        .u8(60, ORDER_TYPE_MARKET)
        .u8(61, f.side)
        .i64(62, NULL_I64) // stopPrice
        .i64(70, NULL_I64)
        .i64(78, NULL_I64)
        .i64(86, now_us) // workingTime
        .i64(94, NULL_I64)
        .i64(102, NULL_I64)
        .i32(110, NULL_I32)
        .u8(114, NULL_U8)
        .u8(115, FLOOR_EXCHANGE)
        .u8(116, SELF_TRADE_PREVENTION_NONE)
        .i64(117, NULL_I64)
        .i64(125, NULL_I64)
        .u8(133, FALSE) // usedSor
        .i64(134, 0)
        .u8(142, NULL_U8)
        .u8(143, NULL_U8)
        .u8(144, NULL_U8)
        .i64(145, NULL_I64)
        .u8(153, NULL_U8); // expiryReason
    let mut m = Msg::new(302, SPOT_SCHEMA, &b);
    let mut fill = Block::new(42);
    fill.i8(0, COMMISSION_EXPONENT)
        .u8(1, NULL_U8)
        .i64(2, f.price)
        .i64(10, f.qty)
        .i64(18, f.commission)
        .i64(26, f.trade_id)
        .i64(34, NULL_I64);
    m.group(42, 1)
        .entry(&fill)
        .var8(f.commission_asset.as_bytes());
    m.group(40, 0); // preventedMatches
    m.var8(s.name.as_bytes()).var8(f.client_order_id.as_bytes());
    m.bytes()
}

/// `ExecutionReportEvent` (template 603): the order's NEW report, or its TRADE report
/// (filled).
pub fn execution_report(s: &SymbolDef, f: &Fill, trade: bool, now_us: i64) -> Vec<u8> {
    let mut b = Block::new(282);
    b.i64(0, now_us)
        .i64(8, now_us)
        .i8(16, s.price_exp)
        .i8(17, s.qty_exp)
        .i8(18, COMMISSION_EXPONENT)
        .i64(19, now_us) // orderCreationTime
        .i64(27, now_us)
        .i64(35, f.order_id)
        .i64(43, NULL_I64)
        .i64(51, f.qty) // origQty
        .i64(59, 0) // price (MARKET)
        .i64(67, 0)
        .i64(75, 0)
        .i64(83, 0) // stopPrice
        .u8(91, ORDER_TYPE_MARKET)
        .u8(92, f.side)
        .u8(93, TIF_GTC)
        .u8(94, if trade { EXEC_TRADE } else { EXEC_NEW })
        .u8(95, if trade { STATUS_FILLED } else { STATUS_NEW })
        .i64(96, if trade { f.trade_id } else { NULL_I64 })
        .i64(104, if trade { 2 } else { 1 }) // executionId
        .i64(112, if trade { f.qty } else { 0 }) // executedQty
        .i64(120, if trade { f.price * f.qty } else { 0 })
        .i64(128, if trade { f.qty } else { 0 }) // lastQty
        .i64(136, if trade { f.price } else { 0 }) // lastPrice
        .i64(144, if trade { f.price * f.qty } else { 0 })
        .i64(152, if trade { f.commission } else { 0 })
        .u8(160, if trade { FALSE } else { TRUE }) // isWorking
        .u8(161, FALSE) // isMaker
        .u8(162, if trade { TRUE } else { FALSE })
        .u8(163, NULL_U8)
        .u8(164, SELF_TRADE_PREVENTION_NONE)
        .u8(165, NULL_U8)
        .u8(166, FLOOR_EXCHANGE)
        .u8(167, FALSE)
        .i64(168, NULL_I64)
        .u64(176, u64::MAX) // trailingDelta (null)
        .i64(184, NULL_I64);
    for at in (192..248).step_by(8) {
        b.i64(at, NULL_I64);
    }
    b.i32(248, NULL_I32)
        .i64(252, NULL_I64)
        .i64(260, NULL_I64)
        .u16(268, 0) // subscriptionId
        .u8(270, NULL_U8)
        .u8(271, NULL_U8)
        .u8(272, NULL_U8)
        .i64(273, NULL_I64)
        .u8(281, NULL_U8);
    let mut m = Msg::new(603, SPOT_SCHEMA, &b);
    m.var8(s.name.as_bytes())
        .var8(f.client_order_id.as_bytes())
        .var8(b"") // origClientOrderId
        .var8(if trade {
            f.commission_asset.as_bytes()
        } else {
            b""
        })
        .var8(b"NONE") // rejectReason
        .var8(b""); // counterSymbol
    m.bytes()
}

/// `OutboundAccountPositionEvent` (template 607): the balances a fill changed.
pub fn account_position(changed: &[(String, i64)], exponent: i8, now_us: i64) -> Vec<u8> {
    let mut b = Block::new(18);
    b.i64(0, now_us).i64(8, now_us).u16(16, 0);
    let mut m = Msg::new(607, SPOT_SCHEMA, &b);
    balances(&mut m, changed, exponent);
    m.bytes()
}

/// `BestBidAskStreamEvent` (template 10001, stream schema) of `<symbol>@bestBidAsk`.
pub fn best_bid_ask(s: &SymbolDef, q: &Quote, update_id: i64, now_us: i64) -> Vec<u8> {
    let mut b = Block::new(50);
    b.i64(0, now_us)
        .i64(8, update_id)
        .i8(16, s.price_exp)
        .i8(17, s.qty_exp)
        .i64(18, q.bid)
        .i64(26, q.bid_qty)
        .i64(34, q.ask)
        .i64(42, q.ask_qty);
    let mut m = Msg::new(10001, STREAM_SCHEMA, &b);
    m.var8(s.name.as_bytes());
    m.bytes()
}
