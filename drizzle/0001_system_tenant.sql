-- The "system" tenant owns audit entries that belong to no tenant, such as a failed
-- login with an unknown API key or e-mail address. It has no API clients or users.
INSERT INTO "tenants" ("id", "name") VALUES ('00000000-0000-0000-0000-000000000000', 'system') ON CONFLICT DO NOTHING;
