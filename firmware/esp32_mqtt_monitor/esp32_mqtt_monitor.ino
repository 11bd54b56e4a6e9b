/*
 * Vigil ESP32 MQTT monitor: reads an analog pin every 100 ms and publishes
 *   {"value": 1.234, "token": "<device token>"}
 * to vigil/<device_id>/readings on your MQTT broker (e.g. Mosquitto next to Vigil).
 *
 * 1. In Vigil: POST /devices {"name": "ESP32", "kind": "mqtt"} -> note "id" and "token" (shown once).
 * 2. Fill in the constants below, build with the Arduino IDE (ESP32 core) and the PubSubClient library.
 * 3. Vigil subscribes to the topic while a session or an app socket uses the device.
 *
 * With MQTT_TRUST_BROKER_AUTH=true (broker-side password + ACL per device) drop the token and
 * publish the bare number instead.
 */
#include <WiFi.h>
#include <PubSubClient.h>

const char* WIFI_SSID = "your-ssid";
const char* WIFI_PASSWORD = "your-password";
const char* MQTT_HOST = "192.168.1.10";
const uint16_t MQTT_PORT = 1883;
const char* DEVICE_ID = "42";                 // Vigil device id
const char* DEVICE_TOKEN = "vgd_...";         // Vigil device token

const int SENSOR_PIN = 34;                    // ADC1 pin (ADC2 is unusable while Wi-Fi is on)
const float DIVIDER_RATIO = 1.0;              // (R1 + R2) / R2 when a divider is fitted
const unsigned long PERIOD_MS = 100;

WiFiClient wifi;
PubSubClient mqtt(wifi);
char topic[64];
unsigned long nextAt = 0;

void connectAll() {
  while (WiFi.status() != WL_CONNECTED) {
    WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
    delay(2000);
  }
  while (!mqtt.connected()) {
    String id = String("vigil-esp32-") + DEVICE_ID;
    if (!mqtt.connect(id.c_str())) delay(2000);
  }
}

void setup() {
  Serial.begin(115200);
  analogReadResolution(12);
  snprintf(topic, sizeof(topic), "vigil/%s/readings", DEVICE_ID);
  mqtt.setServer(MQTT_HOST, MQTT_PORT);
  connectAll();
  nextAt = millis();
}

void loop() {
  if (!mqtt.connected() || WiFi.status() != WL_CONNECTED) connectAll();
  mqtt.loop();
  if ((long)(millis() - nextAt) < 0) return;
  nextAt += PERIOD_MS;
  // analogReadMilliVolts uses the chip's calibration; 0..~3.1 V at the pin.
  float volts = analogReadMilliVolts(SENSOR_PIN) / 1000.0 * DIVIDER_RATIO;
  char payload[96];
  snprintf(payload, sizeof(payload), "{\"value\":%.3f,\"token\":\"%s\"}", volts, DEVICE_TOKEN);
  mqtt.publish(topic, payload);
}
