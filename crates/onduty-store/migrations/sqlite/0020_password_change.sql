-- 1 while a person still has the first password an administrator gave them (or set for
-- them): they choose their own before anything else.
ALTER TABLE users ADD COLUMN password_change_required BIGINT NOT NULL DEFAULT 0;
