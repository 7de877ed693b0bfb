"""Unit tests: run as `python3 tests/unittests/test_handler.py`; a non-zero exit fails."""
import json
import os
import unittest

import app


class HandlerTest(unittest.TestCase):
    def test_greets_by_name(self):
        os.environ["GREETING"] = "Hi"
        body = json.loads(app.handler({"name": "Ada"}, None)["body"])
        self.assertEqual(body["message"], "Hi, Ada!")

    def test_weekday(self):
        body = json.loads(app.handler({"date": "2018-06-01"}, None)["body"])
        self.assertEqual(body["weekday"], "Friday")


if __name__ == "__main__":
    unittest.main()
