"""BigCommerce emulator (V2 orders/shipments/customer groups, V3 catalog/inventory/customers)."""
