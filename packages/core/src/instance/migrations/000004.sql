-- Metadata is shown in the order the asset wrote it; jsonb sorts object keys, json keeps them.
ALTER TABLE event_logs ALTER COLUMN data TYPE json USING data::json;
ALTER TABLE asset_keys ALTER COLUMN last_metadata TYPE json USING last_metadata::json;
ALTER TABLE asset_check_executions ALTER COLUMN metadata TYPE json USING metadata::json;
