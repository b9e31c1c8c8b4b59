select item_id, category, title, brand, price, released_at
from {{ ref('stg_shop__items_validated') }}
where quarantine_reason is null
