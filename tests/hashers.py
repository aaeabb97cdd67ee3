"""bcrypt hashers with a low work factor: same algorithm names and hash formats, faster tests."""

from django.contrib.auth.hashers import BCryptPasswordHasher, BCryptSHA256PasswordHasher


class FastBCryptSHA256PasswordHasher(BCryptSHA256PasswordHasher):
    rounds = 4


class FastBCryptPasswordHasher(BCryptPasswordHasher):
    rounds = 4
