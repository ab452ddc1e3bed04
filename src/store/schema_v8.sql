-- `order_thread` (every message about an existing order, and each open order at every timer
-- run) looked the order's Message-IDs up by scanning the whole table: 67 ms a call at 400,000
-- messages, and a timer run over 40,000 open orders took most of an hour.
CREATE INDEX thread_ids_order ON thread_ids(order_ref, party);
